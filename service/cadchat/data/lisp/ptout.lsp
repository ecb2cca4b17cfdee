;;; ptout.lsp -- PTOUT：把点或多段线顶点的坐标导出到 txt 或 csv 文件
;;; 用法：加载后输入 PTOUT，选择点、多段线（二维、三维）、直线，指定保存的文件
;;; （扩展名 .csv 可直接用 Excel 打开）。每行：序号,X,Y,Z（世界坐标，保留 4 位小数）；
;;; 多段线按顶点顺序，直线输出起点和终点。

(defun ptout-points (ent / ed etype pts v)
  ;; 对象 ENT 的点（WCS），按顺序。
  (setq ed    (entget ent)
        etype (cdr (assoc 0 ed))
  )
  (cond
    ((= etype "POINT") (list (cdr (assoc 10 ed))))
    ((= etype "LINE") (list (cdr (assoc 10 ed)) (cdr (assoc 11 ed))))
    ((= etype "LWPOLYLINE")
     (foreach pair ed
       (if (= (car pair) 10)
         (setq pts (cons (trans (list (cadr pair) (caddr pair) (cond ((cdr (assoc 38 ed))) (0.0))) ent 0) pts))
       )
     )
     (reverse pts)
    )
    ((= etype "POLYLINE")
     (setq v (entnext ent))
     (while (= (cdr (assoc 0 (entget v))) "VERTEX")
       ;; 三维多段线（70 组码含 8）的顶点已是 WCS，二维多段线的顶点在对象坐标系中
       (setq pts (cons (if (= 8 (logand 8 (cdr (assoc 70 ed))))
                         (cdr (assoc 10 (entget v)))
                         (trans (cdr (assoc 10 (entget v))) ent 0)
                       )
                       pts
                 )
             v   (entnext v)
       )
     )
     (reverse pts)
    )
  )
)

(defun c:PTOUT (/ ss path file i n no pt)
  (princ "\n选择点、多段线或直线：")
  (if (setq ss (ssget '((0 . "POINT,LWPOLYLINE,POLYLINE,LINE"))))
    (if (and (setq path (getfiled "坐标导出到" (strcat (getvar "DWGPREFIX") "坐标.csv") "csv;txt" 1))
             (setq file (open path "w"))
        )
      (progn
        (write-line "No,X,Y,Z" file)
        (setq no 0
              n  (sslength ss)
              i  0
        )
        (while (< i n)
          (foreach pt (ptout-points (ssname ss i))
            (setq no (1+ no))
            (write-line (strcat (itoa no) "," (rtos (car pt) 2 4) "," (rtos (cadr pt) 2 4) ","
                                (rtos (if (caddr pt) (caddr pt) 0.0) 2 4)
                        )
                        file
            )
          )
          (setq i (1+ i))
        )
        (close file)
        (princ (strcat "\n已导出 " (itoa no) " 个坐标到 " path))
      )
      (princ "\n未导出：没有指定文件或文件无法写入。")
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nPTOUT 已加载：输入 PTOUT 导出坐标。")
(princ)
