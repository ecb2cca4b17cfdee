;;; pj.lsp -- PJ：把首尾相连的直线、圆弧、多段线批量合并成多段线
;;; 用法：加载后输入 PJ，选择要合并的线，输入容差（端点相距不超过容差即视为相连，默认 0）。
;;; 用 PEDIT 的“多条(M)”+“合并(J)”一次完成；单独的直线和圆弧也会转换成多段线。

(vl-load-com)

(defun c:PJ (/ *error* doc oldecho oldaccept ss fuzz)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (if oldecho (setvar "CMDECHO" oldecho))
    (if oldaccept (setvar "PEDITACCEPT" oldaccept))
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择要合并的线：")
  (if (setq ss (ssget "_:L" '((0 . "LINE,ARC,LWPOLYLINE"))))
    (progn
      (initget 4)
      (setq fuzz (getdist "\n合并容差 <0>: "))
      (if (not fuzz) (setq fuzz 0.0))
      (vla-StartUndoMark doc)
      (setq oldecho   (getvar "CMDECHO")
            oldaccept (getvar "PEDITACCEPT")
      )
      (setvar "CMDECHO" 0)
      ;; PEDITACCEPT=1：直线、圆弧不再询问是否转换为多段线
      (setvar "PEDITACCEPT" 1)
      (command "_.PEDIT" "_M" ss "" "_J" fuzz "")
      (setvar "PEDITACCEPT" oldaccept)
      (setvar "CMDECHO" oldecho)
      (vla-EndUndoMark doc)
      (princ (strcat "\n已合并 " (itoa (sslength ss)) " 个对象中首尾相连的部分。"))
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nPJ 已加载：输入 PJ 批量合并多段线。")
(princ)
