;;; tt.lsp -- TT：统计所选直线、多段线、圆弧等曲线的总长度
;;; 用法：加载后输入 TT，选择对象，命令行显示对象个数与总长度（图形单位）。
;;; 支持 LINE、ARC、CIRCLE、LWPOLYLINE、POLYLINE、SPLINE、ELLIPSE。

(vl-load-com)

(defun c:TT (/ ss i n ent total)
  (princ "\n选择要统计长度的线（直线、多段线、圆弧、圆、样条曲线、椭圆）：")
  (if (setq ss (ssget '((0 . "LINE,ARC,CIRCLE,LWPOLYLINE,POLYLINE,SPLINE,ELLIPSE"))))
    (progn
      (setq total 0.0
            n     (sslength ss)
            i     0
      )
      (while (< i n)
        (setq ent   (ssname ss i)
              total (+ total (vlax-curve-getDistAtParam ent (vlax-curve-getEndParam ent)))
              i     (1+ i)
        )
      )
      (princ (strcat "\n共 " (itoa n) " 个对象，总长度 = " (rtos total 2 3)))
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nTT 已加载：输入 TT 统计线段总长度。")
(princ)
